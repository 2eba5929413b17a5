// Lint of the package's JavaScript: the repository's rules plus Node's globals. The kernel
// table (lib/kernel-table.*) is generated from src/lib/core/kernels/table.ts and linted there.
import globals from 'globals';
import root from '../../eslint.config.js';

export default [...root, { ignores: ['lib/kernel-table.*'] }, { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { ...globals.node } } }];
