export { ExamplesModule } from './examples.module.js';
