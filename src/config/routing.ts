import { EVENT_SEVERITY, EVENT_TYPES, SEVERITIES, type EventType, type Severity } from '../events/event.js';

/** Whether a notifier takes events of a type: asked once per (event, named notifier) as the event is written. */
export type EventRoute = (notifier: string, type: EventType) => boolean;

/** A notifier's routing keys as the config holds them; absent keys take every event. */
interface Routing {
  events?: readonly string[] | undefined;
  minSeverity?: Severity | undefined;
}

/** `glob` as an anchored pattern: `*` stands for any run of characters, everything else for itself. */
function globPattern(glob: string): RegExp {
  const parts = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/** Whether an event type glob matches at least one event type (one that matches none is a typo). */
export function globMatchesSomeType(glob: string): boolean {
  const pattern = globPattern(glob);
  return EVENT_TYPES.some((type) => pattern.test(type));
}

/** Whether `routing` lets an event of `type` through: a glob in `events` matches it and its severity is at least `minSeverity`. */
export function routes(routing: Routing, type: EventType): boolean {
  const least = SEVERITIES.indexOf(routing.minSeverity ?? 'info');
  if (SEVERITIES.indexOf(EVENT_SEVERITY[type]) < least) return false;
  return routing.events === undefined || routing.events.some((glob) => globPattern(glob).test(type));
}

/** The route for a set of configured notifiers; a name not among them (a notifier since removed) keeps today's behaviour and takes everything. */
export function notifierRoutes(notifiers: Readonly<Record<string, Routing>>): EventRoute {
  return (notifier, type) => {
    const routing = notifiers[notifier];
    return routing === undefined || routes(routing, type);
  };
}
