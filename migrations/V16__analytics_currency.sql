-- Amounts in analytics are kept per currency and never summed across currencies: each return
-- carries the currency of its order. Rows written before have none (a rebuild of the analytics
-- projection fills it: `returns rebuild --projection analytics`).
ALTER TABLE analytics_returns ADD COLUMN currency text;
