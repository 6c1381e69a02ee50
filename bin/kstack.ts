#!/usr/bin/env -S node --initial-old-space-size=64
import { main } from '../src/cli.ts';

process.exitCode = await main(process.argv.slice(2));
