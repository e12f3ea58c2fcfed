"""Policy subscriptions (信息定制): taxpayers subscribe by tax type, taxpayer type and region; a dispatcher
following the knowledge store's change log pushes new matching documents and FAQs through their channel."""
