/* Starting a background thread from a module beside the caller, the same way under tsx and in dist/. */
import { Worker } from 'node:worker_threads'

/**
 * Starts the worker script at `url`, unref'd (an idle thread never keeps the process alive).
 * Under tsx (tests, development) a worker does not inherit the TypeScript loader: it registers it first.
 */
export function startWorker (url: URL, workerData: unknown): Worker {
  const worker = url.pathname.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`, { eval: true, workerData })
    : new Worker(url, { workerData })
  worker.unref()
  return worker
}
