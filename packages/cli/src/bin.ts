#!/usr/bin/env node
/**
 * The `pnpm ghl` entry. Reads `.env` from the working directory (pnpm runs root scripts at the
 * repository root) the way Node does, without overriding variables already set: the CLI then sees
 * the configuration the api and the worker were started with.
 */
import { existsSync } from 'node:fs'
import { main } from './main.ts'

if (existsSync('.env')) process.loadEnvFile('.env')
process.exitCode = await main(process.argv.slice(2))
