"""Server-rendered pages in Chinese: sessions, CSRF, templates and page routes."""
