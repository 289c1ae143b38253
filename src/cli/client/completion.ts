/**
 * `completion bash|zsh`: a script that completes commands, options and, for the commands that
 * take one, workflow names (asked of the server with `chronoverse get workflows -o name`, so it
 * completes against the current context).
 */
const COMMANDS =
  'login context apply diff get describe run logs cancel retry pause resume backfill export completion start migrate users config roles keys help';
const WORKFLOW_COMMANDS = 'describe run pause resume backfill export';

const BASH = `# chronoverse completion for bash: source <(chronoverse completion bash)
_chronoverse() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur="\${COMP_WORDS[COMP_CWORD]}"; prev="\${COMP_WORDS[COMP_CWORD-1]}"; cword=$COMP_CWORD; words=("\${COMP_WORDS[@]}"); }
  if [ "$cword" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${COMMANDS}" -- "$cur") ); return
  fi
  case "$prev" in
    -f|--filename) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    -o|--output) COMPREPLY=( $(compgen -W "table json yaml name" -- "$cur") ); return ;;
  esac
  case "\${words[1]}" in
    get) [ "$cword" -eq 2 ] && COMPREPLY=( $(compgen -W "workflows jobs" -- "$cur") ) ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ) ;;
    context) COMPREPLY=( $(compgen -W "use delete" -- "$cur") ) ;;
    ${WORKFLOW_COMMANDS.split(' ').join('|')})
      [ "\${words[1]}" = describe ] && [ "$cword" -eq 2 ] && { COMPREPLY=( $(compgen -W "workflow" -- "$cur") ); return; }
      COMPREPLY=( $(compgen -W "$(chronoverse get workflows -o name 2>/dev/null | sed 's#^workflow/##')" -- "$cur") ) ;;
  esac
}
complete -F _chronoverse chronoverse
`;

const ZSH = `#compdef chronoverse
# chronoverse completion for zsh: source <(chronoverse completion zsh)
_chronoverse() {
  local -a commands
  commands=(${COMMANDS})
  if (( CURRENT == 2 )); then
    compadd -- $commands; return
  fi
  case "$words[CURRENT-1]" in
    -f|--filename) _files; return ;;
    -o|--output) compadd -- table json yaml name; return ;;
  esac
  case "$words[2]" in
    get) (( CURRENT == 3 )) && compadd -- workflows jobs ;;
    completion) compadd -- bash zsh ;;
    context) compadd -- use delete ;;
    ${WORKFLOW_COMMANDS.split(' ').join('|')})
      if [[ $words[2] == describe && CURRENT -eq 3 ]]; then compadd -- workflow; return; fi
      compadd -- \${(f)"$(chronoverse get workflows -o name 2>/dev/null | sed 's#^workflow/##')"} ;;
  esac
}
if [[ "$funcstack[1]" == "_chronoverse" ]]; then _chronoverse "$@"; else compdef _chronoverse chronoverse; fi
`;

export function completionScript(shell: string): string | null {
  if (shell === 'bash') return BASH;
  if (shell === 'zsh') return ZSH;
  return null;
}
