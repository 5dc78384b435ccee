// Run as a separate process: a Vite dev server with the shim for the project folder given
// as argv[2]. Prints one JSON line { port, sidecarPid } once the sidecar is ready, so a
// test can kill -9 this whole process.

import { startVite } from './project.js'

const { port, pid } = await startVite(process.argv[2])
process.stdout.write(JSON.stringify({ port, sidecarPid: pid }) + '\n')
