import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', '.test-dist/**', 'coverage/**', 'src/ui/vendor/**', 'bench/.out/**'] }),
  { rules: { '@stylistic/comma-dangle': ['error', 'never'], 'n/prefer-node-protocol': 'error', 'n/no-process-exit': 'error' } },
  { files: ['**/*.ts'], rules: { '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }] } }
]
