import { filter, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { CancelledError } from '../lib';
import { type FlowItem, type FlowSummary, QUESTIONS, answerQuestions, main, questionStream } from './rx-flow';

describe('examples/rx-flow.ts (npm run demo:rx)', () => {
  test('in virtual time: question 2 cancels the run of question 1, and its agents report the abort', async () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const lines: string[] = [];
    let pending: Promise<FlowSummary> | undefined;
    scheduler.run(() => {
      pending = main((line) => lines.push(line), scheduler);
    });
    const summary = await (pending as Promise<FlowSummary>);

    expect(summary.answered).toEqual([2, 3]);
    expect(summary.aborted.map(({ question, agent }) => `${question}:${agent}`)).toEqual(['1:researcher', '1:critic']);
    for (const report of summary.aborted) expect(report.reason).toEqual(expect.any(CancelledError));
    expect(summary.aborted[0]?.reason).toMatchObject({ reason: 'unsubscribed' });

    const output = lines.join('\n');
    expect(output).toMatch(/ 90 {2}1 {2}researcher {2}aborted {3}ctx\.signal aborted: CancelledError \(reason: unsubscribed\)/);
    expect(output).toMatch(/ 90 {2}1 {2}critic {6}aborted/);
    expect(output).toContain('question 1: cancelled by the next question; the agents still at work saw ctx.signal abort: researcher, critic');
    expect(output).toContain('question 2: answered by every agent');
    // The retriever had answered question 1 before it was cancelled, so it had nothing to abort.
    expect(output).toMatch(/1 {2}retriever {3}settled {3}✓ "docs: placement.md"/);
    // A cancelled run emits nothing more: no `done` for question 1.
    expect(lines.filter((line) => / 1 {14}done/.test(line))).toEqual([]);
  });

  test('the same flow as a marble test: the aborts at 90 ms, the answers at 360 and 910 ms', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ expectObservable }) => {
      const code = (item: FlowItem): string => (item.kind === 'aborted' ? `aborted:${item.question}:${item.agent}` : `${item.event.type}:${item.question}`);
      const milestones = answerQuestions(questionStream(QUESTIONS)).pipe(
        filter((item) => item.kind === 'aborted' || item.event.type === 'done'),
        map(code),
      );
      expectObservable(milestones).toBe('90ms (ab) 266ms c 549ms (d|)', {
        a: 'aborted:1:researcher',
        b: 'aborted:1:critic',
        c: 'done:2',
        d: 'done:3',
      });
    });
  });

  test('in real time, as `npm run demo:rx` runs it', async () => {
    const lines: string[] = [];
    const summary = await main((line) => lines.push(line));
    // Only what a busy machine cannot change (which agent of question 1 had started when question 2
    // came depends on how late its timers fire; the virtual-time test above pins that exactly).
    expect(summary.answered).toContain(3);
    expect(summary.answered).not.toContain(1);
    for (const report of summary.aborted) expect(report.reason).toMatchObject({ name: 'CancelledError', reason: 'unsubscribed' });
    expect(lines.join('\n')).toContain('question 3: answered by every agent');
  });
});
