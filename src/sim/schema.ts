import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BREAK, buildASTSchema, parse, visit, type DocumentNode, type GraphQLSchema } from 'graphql';

/** The project's copy of RunPod's schema (src/sim and dist/sim are both two levels below the root). */
const SCHEMA_PATH = fileURLToPath(new URL('../../schema/runpod.graphql', import.meta.url));

// What RunPod is retiring with spot pods.
const SPOT_FIELDS = new Set(['minimumBidPrice', 'secureSpotPrice', 'communitySpotPrice', 'podRentInterruptable', 'podBidResume']);
const SPOT_INPUTS = new Set(['PodRentInterruptableInput', 'PodBidResumeInput']);

/** The first retiring spot field or mutation a request selects, if any. */
export function spotFieldIn(document: DocumentNode): string | undefined {
  let found: string | undefined;
  visit(document, {
    Field: (node) => {
      if (!SPOT_FIELDS.has(node.name.value)) return undefined;
      found = node.name.value;
      return BREAK;
    },
  });
  return found;
}

/** Builds the schema from the SDL file; `spotRetired` serves it as it will be once spot is gone. */
export function loadRunpodSchema(options: { spotRetired?: boolean } = {}): GraphQLSchema {
  let document = parse(readFileSync(SCHEMA_PATH, 'utf8'));
  if (options.spotRetired) {
    document = visit(document, {
      FieldDefinition: (node) => (SPOT_FIELDS.has(node.name.value) ? null : undefined),
      InputObjectTypeDefinition: (node) => (SPOT_INPUTS.has(node.name.value) ? null : undefined),
    });
  }
  return buildASTSchema(document);
}
