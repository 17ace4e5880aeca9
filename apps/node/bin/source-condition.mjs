// Module resolve hook: resolve workspace packages to their TypeScript sources.
export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('conclave-source')
    ? context.conditions
    : [...context.conditions, 'conclave-source']
  return next(specifier, { ...context, conditions })
}
