/* A listener that cannot bind stops paritygate at start with exit 2, naming the listener and the address (issue 15.7). */
import { match, ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { test, type TestContext } from 'node:test'
import { spawnCli } from '../helpers/cli.ts'

/** runCli with a bound: a process still running after 15 s (serving without its admin port) is killed, and its code is null. */
async function runCli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawnCli(args)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => { stdout += d })
  child.stderr?.on('data', (d) => { stderr += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** A port held busy by the test for its duration. */
async function busyPort (t: TestContext): Promise<number> {
  const server: Server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  return (server.address() as { port: number }).port
}

const PRIMARY = ['--primary', 'http://127.0.0.1:1']

test('a busy admin port should stop the process (exit 2), not leave a proxy without health endpoints', async (t) => {
  const port = await busyPort(t)
  const r = await runCli([...PRIMARY, '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`])
  strictEqual(r.code, 2)
  match(r.stderr, new RegExp(`admin listener 127\\.0\\.0\\.1:${port}: address already in use`))
  ok(!r.stdout.includes('paritygate listening'))
})

test('a busy proxy port should stop the process with exit 2, naming the proxy listener', async (t) => {
  const port = await busyPort(t)
  const r = await runCli([...PRIMARY, '--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0'])
  strictEqual(r.code, 2)
  match(r.stderr, new RegExp(`proxy listener 127\\.0\\.0\\.1:${port}: address already in use`))
})

test('an address not on this host should exit 2 as a busy one does, for either listener', async () => {
  // 192.0.2.0/24 is TEST-NET-1: never an address of this host.
  const proxy = await runCli([...PRIMARY, '--listen', '192.0.2.1:0', '--admin', '127.0.0.1:0'])
  strictEqual(proxy.code, 2)
  match(proxy.stderr, /proxy listener 192\.0\.2\.1:0: address not available on this host/)
  const admin = await runCli([...PRIMARY, '--listen', '127.0.0.1:0', '--admin', '192.0.2.1:0'])
  strictEqual(admin.code, 2)
  match(admin.stderr, /admin listener 192\.0\.2\.1:0: address not available on this host/)
})

test('with --workers, a busy admin port or proxy port should stop the whole group with exit 2', async (t) => {
  const port = await busyPort(t)
  const admin = await runCli([...PRIMARY, '--workers', '2', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`])
  strictEqual(admin.code, 2)
  match(admin.stderr, new RegExp(`admin listener 127\\.0\\.0\\.1:${port}: address already in use`))
  const proxy = await runCli([...PRIMARY, '--workers', '2', '--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0'])
  strictEqual(proxy.code, 2)
  match(proxy.stderr, new RegExp(`proxy listener 127\\.0\\.0\\.1:${port}: address already in use`))
})
