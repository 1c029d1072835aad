-- Appeals of operators' decisions (docs/product.md, "Arbitration"): whether a return's dispute was
-- decided, appealed, and whether the appeal reversed the first decision (null until decided).
ALTER TABLE analytics_returns ADD COLUMN decided boolean NOT NULL DEFAULT false;
ALTER TABLE analytics_returns ADD COLUMN appealed boolean NOT NULL DEFAULT false;
ALTER TABLE analytics_returns ADD COLUMN overturned boolean;
