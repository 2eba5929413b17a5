/**
 * A Node module-resolution hook for TensorFlow.js's ESM files, whose relative imports have no
 * file extension (fine for bundlers, rejected by Node). It lets Node load
 * `@tensorflow/tfjs-core/dist/register_all_gradients.js`, which no CommonJS bundle includes.
 * Only imports from inside `@tensorflow/tfjs-core/dist/` are touched.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: NextResolve,
): Promise<unknown> {
  const parent = context.parentURL;
  if (
    parent !== undefined &&
    parent.includes('/@tensorflow/tfjs-core/dist/') &&
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
