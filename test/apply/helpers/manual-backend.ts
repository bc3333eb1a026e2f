/**
 * A test backend whose `manual` part marks some ops manual, the way the union backend does for
 * operations Union has no public API for: a wrapper around any ControlPlane (here the REST
 * client of an embedded control plane), with `flyte`-style commands. fake-flyte.ts stands in
 * for the official CLI and performs them through the same REST API.
 */
import type { BackendProfile, ControlPlane, ManualSteps } from '../../../src/controlplane/types.js';
import type { ManualInstruction, Step, StepKind } from '../../../src/model/plan.js';

export function manualInstruction(step: Step): ManualInstruction | null {
  switch (step.op) {
    case 'create_pool':
      return {
        reason: 'this test backend has no API to create a cluster pool',
        command: `flyte create cluster-pool ${step.args.name} --file ${step.args.name}.yaml`,
        // JSON is YAML: the fake CLI reads it with JSON.parse.
        file: {
          name: `${step.args.name}.yaml`,
          content: `${JSON.stringify({ name: step.args.name, contract: step.args.contract }, null, 2)}\n`,
        },
      };
    case 'register_cluster':
      return {
        reason: 'this test backend has no API to register a cluster',
        command: `flyte create cluster ${step.args.name} --pool ${step.args.pool}`,
      };
    case 'update_cluster':
      // Like Union: an action only the console offers, no CLI command.
      return {
        reason: 'this test backend has no API to enable or disable a cluster',
        command: `# ${step.args.enabled ? 'enable' : 'disable'} cluster ${step.args.name} in the console`,
      };
    default:
      return null;
  }
}

export function withManualSteps(cp: ControlPlane, ops: ReadonlySet<StepKind>): ControlPlane {
  const backend: BackendProfile = { name: 'manual (tests)' };
  const manual: ManualSteps = {
    instruction: (step) => (ops.has(step.op) ? manualInstruction(step) : null),
  };
  return new Proxy(cp, {
    get(target, prop, receiver) {
      if (prop === 'backend') return backend;
      if (prop === 'manual') return manual;
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
