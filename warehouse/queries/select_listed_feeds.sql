-- Which of the given feed URLs the warehouse already holds (removed ones included).
SELECT feed_url FROM feeds WHERE list_contains($urls, feed_url);
