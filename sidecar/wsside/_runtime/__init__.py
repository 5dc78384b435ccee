"""What serves the handlers: sessions and their callbacks, hubs and rooms, the registry of
endpoints, loading and hot reload, the backplane; and the handlers' message types as
TypeScript (`typescript`, `tsconfig`). Knows nothing of Vite.
"""
