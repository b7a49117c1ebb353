-- fragment: line_in_models
-- A call's line (its key k: stage|provider|model) is of one of the models asked for (empty: all).
-- params: models Array(String)
(empty({models:Array(String)}) OR has({models:Array(String)}, arrayStringConcat(arraySlice(splitByChar('|', k), 3), '|')))
