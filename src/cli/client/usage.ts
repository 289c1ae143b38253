/**
 * The names and usage of the client commands (./commands.ts), apart from them so that
 * `chronoverse start` can read its command line without loading the client.
 */
export const CLIENT_COMMANDS = [
  'login',
  'context',
  'apply',
  'diff',
  'get',
  'describe',
  'run',
  'logs',
  'cancel',
  'retry',
  'pause',
  'resume',
  'backfill',
  'export',
  'completion',
] as const;

export const CLIENT_USAGE = `Client commands (talk to a server; see docs/cli.md):
  chronoverse login --server <url> --token <token> [--context <name>]   (or --token-stdin)
  chronoverse context [use <name> | delete <name>]  list contexts, choose one, or forget one
  chronoverse apply -f <file|dir>... [--dry-run] [--prune [-l <selector>]]
  chronoverse diff -f <file|dir>... [--prune [-l <selector>]]        exit 1 when different
  chronoverse get workflows [<name>...] [-l <selector>] [-o table|json|yaml|name]
  chronoverse get jobs [--workflow <name>] [-l <selector>] [--status <S>] [--limit <n>] [-o …]
  chronoverse describe workflow <name> [-o json|yaml]
  chronoverse run <workflow> [--version <n>] [--wait] [--timeout <duration>] [-o json]
  chronoverse logs <job|workflow> [-f] [--timestamps] [--workflow <name>] [--task <name|name[i]>]
  chronoverse cancel <job> [--workflow <name>]
  chronoverse retry <job> [--workflow <name>] [--wait] [--timeout <duration>]
  chronoverse pause <workflow> [--note <text>] [-o json]   no runs until resumed
  chronoverse resume <workflow> [-o json]     runs again from its next fire time
  chronoverse backfill <workflow> --from <time> --to <time> [--max-parallel <n>] [--overlap ALLOW_ALL|BUFFER_ALL] [--dry-run] [-o json]
  chronoverse export [<name>...] [-l <selector>] [-o yaml|json] [-d <dir>]   (-d: one file each)
  chronoverse completion bash|zsh
  Every client command takes --context <name>; CHRONOVERSE_URL and CHRONOVERSE_TOKEN override it.`;
