/**
 * Node's on-disk compile cache (module.enableCompileCache, in the system's temporary folder
 * unless NODE_COMPILE_CACHE names one): later starts reuse the compiled code of the modules
 * instead of compiling them again, about a fifth of the CPU of loading the server on the 2-core
 * machine (docs/performance.md, Startup). The cache is checked against each file's content, so a
 * changed source is compiled anew; NODE_DISABLE_COMPILE_CACHE=1 turns it off. Imported first by
 * ./main.ts; everything the command needs after that is imported dynamically and so benefits.
 */
import module from 'node:module';

// Best effort: a read-only or full temporary folder only means no cache.
try {
  module.enableCompileCache?.();
} catch {
  // no cache
}
