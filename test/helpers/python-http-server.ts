/**
 * `python3 -m http.server` in a namespace, serving a directory; resolved once it says it is
 * serving. The harness kills it with the namespace's other processes.
 */
import { type NetnsHarness, type NsProcess, waitFor } from './netns.ts';

export async function pythonHttpServer(
  netns: NetnsHarness,
  ns: string,
  options: { bind: string; port: number; directory: string },
): Promise<NsProcess> {
  const { bind, port, directory } = options;
  const server = netns.spawn(ns, 'python3', [
    '-m',
    'http.server',
    '--bind',
    bind,
    String(port),
    '--directory',
    directory,
  ]);
  await waitFor(() => /Serving HTTP/.test(server.stdout + server.stderr), {
    timeout: 15_000,
    what: 'python',
  });
  return server;
}
