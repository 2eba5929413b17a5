// Lint of the package's JavaScript: the repository's rules plus Node's globals.
import globals from 'globals';
import root from '../../eslint.config.js';

export default [...root, { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { ...globals.node } } }];
