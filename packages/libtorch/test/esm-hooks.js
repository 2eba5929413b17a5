/**
 * Lets Node load TensorFlow.js's ESM gradient files, whose relative imports have no file
 * extension: `./x` is tried as `./x.js`, then `./x/index.js` (tfjs-core's dist/ only).
 */
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (
    parent?.includes('/@tensorflow/tfjs-core/dist/') &&
    (specifier.startsWith('./') || specifier.startsWith('../')) &&
    !/\.(m?js|json)$/.test(specifier)
  ) {
    try {
      return await next(`${specifier}.js`, context);
    } catch {
      return next(`${specifier}/index.js`, context);
    }
  }
  return next(specifier, context);
}
