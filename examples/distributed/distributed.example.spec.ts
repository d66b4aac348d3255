import { redisServerInstalled } from '../../spec/queue/support/redis';
import { main } from './main';

jest.setTimeout(60_000);

test('the distributed example runs the embedder on a worker and cancels it there on HALT', async () => {
  const lines: string[] = [];
  const outcome = await main((line) => lines.push(line));
  if (!redisServerInstalled() && process.env['CI'] === undefined && process.env['REDIS_URL'] === undefined) {
    expect(outcome.ran).toBe(false);
    expect(lines.join('\n')).toContain('Install redis-server');
    return;
  }
  expect(outcome.ran).toBe(true);
  expect(outcome.values?.[2]).toMatchObject({ vector: expect.any(Array), worker: expect.stringMatching(/^pid \d+$/) });
  expect(outcome.halted).toEqual(['CancelledError', 'Error', 'CancelledError']);
  expect(lines.join('\n')).toContain('embedder    partial   embedded 1/8: customer');
});
