-- Satisfaction feedback (docs/product.md, "Satisfaction"): the buyer's rating of a closed return,
-- 1 to 5, and when it was given. The comment is personal data and never reaches analytics.
ALTER TABLE analytics_returns ADD COLUMN rating smallint;
ALTER TABLE analytics_returns ADD COLUMN rated_at timestamptz;
CREATE INDEX analytics_returns_rated_idx ON analytics_returns (rated_at) WHERE rated_at IS NOT NULL;
