"""The engine catalogue and the content policy: what is stored (models), its reads (store, policy) and the list
route's settings. Create reads the catalogue, the worker reads both, operators write them (admin/music_admin)."""
