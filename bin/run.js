#!/usr/bin/env node
// Production entry: oclif dispatches to dist/commands via the shipped manifest.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
