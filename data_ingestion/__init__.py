"""Trade stream in, `Tick`s out: wire schemas, the stream supervisor, gap backfill, tick store."""
