"""What serves the handlers: sessions and their callbacks, hubs and rooms, the registry of
endpoints, loading and hot reload, the backplane; the settings and the config file, status
events, the access log and the stall watchdog; and the handlers' message types as TypeScript
(`typescript`, the text of `wsside-env.d.ts`). Knows nothing of Vite (`_project` reads the
project's vite.config and tsconfig).
"""
