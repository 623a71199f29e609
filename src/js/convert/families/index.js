// The converter's families: one module each (names, config.json → architecture, classifier, processor defaults),
// listed once here. The engine's tensor table (embind tensorTable) says which tensors the result must hold.
import vit from './vit.js';
import deit from './deit.js';
import dinov2 from './dinov2.js';
import clip from './clip.js';
import siglip from './siglip.js';
import { convertError } from './common.js';

export const FAMILIES = [vit, deit, dinov2, clip, siglip];

/** The family module converting a config.json model_type. */
export function familyForModelType(modelType) {
  const f = FAMILIES.find((x) => x.modelTypes.includes(modelType));
  if (!f) throw convertError(`config.json: model_type ${JSON.stringify(modelType)} is not supported (${FAMILIES.flatMap((x) => x.modelTypes).join(', ')})`);
  return f;
}

/** The family module of a manifest's architecture.family, or undefined. */
export function familyNamed(name) {
  return FAMILIES.find((x) => x.name === name);
}
