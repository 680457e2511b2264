"""Premium history: the sync endpoints and the server-side history query."""
