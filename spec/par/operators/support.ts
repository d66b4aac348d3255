import { type SchedulerLike, Subject } from 'rxjs';
import { BackendRegistry, FailurePolicy, Placement, type Process } from '../../../lib';
import { type PlacedTask, type RunSettings, placeTask } from '../../../lib/par/task';

/** The settings of a run on `scheduler`, with the given registry, policy and deadline (ms on its clock). */
export function runSettings(scheduler: SchedulerLike, fields: Partial<RunSettings> = {}): RunSettings {
  const deadlineAt = fields.deadlineAt;
  return {
    policy: FailurePolicy.COLLECT,
    registry: new BackendRegistry(),
    scheduler,
    now: () => scheduler.now(),
    parent: undefined,
    deadline: deadlineAt === undefined ? undefined : new Date(deadlineAt),
    deadlineAt,
    verbose: true,
    deadlinePassed: new Subject<void>(),
    ...fields,
  };
}

/** Places each process (at its index) on the unspecified placement. */
export function tasksOf<T>(settings: RunSettings, ...processes: Process<T>[]): PlacedTask<T>[] {
  return processes.map((process, index) => placeTask(index, process, new Placement({}), settings));
}
