"""What serves the handlers: sessions and their callbacks, hubs and rooms, the registry of
endpoints, loading and hot reload, the backplane. Knows nothing of Vite.
"""
