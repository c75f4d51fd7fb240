import { checkOptionNames, type OptionNames } from '../options.ts';
import { checkServiceName } from './names.ts';
import { registryOf } from './local-registry.ts';
import type { InstanceInfo, Registry } from './registry.ts';

export interface ListServicesOptions {
  /** Only this service's instances. */
  service?: string;
  /** The registry directory (default as serve()'s), or a Registry of your own. */
  registry?: string | Registry;
}

const LIST_OPTIONS = { service: true, registry: true } as const satisfies OptionNames<ListServicesOptions>;

/**
 * The live instances registered on this host (what `farcall ls` shows),
 * oldest first. Each is checked: an entry whose process is gone or whose
 * socket does not answer is removed, not listed.
 */
export async function listServices(options: ListServicesOptions = {}): Promise<InstanceInfo[]> {
  checkOptionNames('listServices', options, LIST_OPTIONS);
  if (options.service !== undefined) checkServiceName('listServices', options.service);
  const registry = registryOf(options.registry);
  const found = await registry.list(options.service);
  const alive = await Promise.all(found.map((i) => registry.check(i)));
  return found.filter((_, i) => alive[i]);
}
