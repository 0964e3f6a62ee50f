import type { TeamsConfig } from '../../config/notifiers.js';
import type { Severity, WatcherEvent } from '../../events/event.js';
import { cut, eventFacts, eventFooter, eventTitle, headline, severityOf } from '../facts.js';
import { jsonNotifier, urlSecrets } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

/** The title's colour, in Adaptive Card names. */
const COLOR: Record<Severity, string> = { info: 'Accent', warning: 'Warning', critical: 'Attention' };

/** A cap per text: Teams refuses a card over about 28 KB, and nothing we send needs more. */
const TEXT_MAX = 4_000;

/**
 * The body a Teams workflow webhook takes ("Post to a channel when a webhook request is
 * received"): a message with one Adaptive Card attachment holding the title, the summary, the
 * facts as a FactSet and the event's line.
 * @see https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card
 */
function buildTeamsMessage(event: WatcherEvent): unknown {
  const body: unknown[] = [
    { type: 'TextBlock', text: cut(eventTitle(event), 256), weight: 'Bolder', size: 'Medium', color: COLOR[severityOf(event)], wrap: true },
    { type: 'TextBlock', text: cut(headline(event), TEXT_MAX), wrap: true },
  ];
  const facts = eventFacts(event);
  if (facts.length > 0) body.push({ type: 'FactSet', facts: facts.map((fact) => ({ title: fact.label, value: cut(fact.value, 256) })) });
  body.push({ type: 'TextBlock', text: eventFooter(event), isSubtle: true, size: 'Small', wrap: true });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body },
      },
    ],
  };
}

/** A Teams notifier: the workflow URL's signature (`sig=`) and other query values are its secrets. */
export function createTeamsNotifier(name: string, config: TeamsConfig, deps: NotifierDeps): Notifier {
  const secrets = urlSecrets(config.url, { wholePath: false });
  return jsonNotifier({ name, type: 'teams', url: config.url, secrets, build: buildTeamsMessage }, deps);
}
