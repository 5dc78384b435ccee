"""The project around the handler files, read as files and never run: which file is its
vite.config (`vite_files`), what of it is code (`js_text`), its tsconfig and the `include` in
effect through `extends` (`tsconfig`, `tsconfig_chain`, with `jsonc` reading JSON with
comments), SvelteKit's way of listing `wsside-env.d.ts` (`sveltekit_types`), and which Python
the shim runs the sidecar with (`interpreter`, the shim's own rules). Above the runtime, which
knows nothing of Vite; used by `wsside doctor`, `wsside init`, `wsside types`, and under Vite
by the warning that the tsconfig does not list the types file (`_edge/unseen_types.py`).
"""
