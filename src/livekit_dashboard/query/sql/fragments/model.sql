-- fragment: model
-- The model filter on a table with a Model column: requests of these models (empty: all).
-- params: models Array(String)
(empty({models:Array(String)}) OR Model IN {models:Array(String)})
