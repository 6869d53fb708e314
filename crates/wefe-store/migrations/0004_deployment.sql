-- The deployment a store belongs to (chain id and contract addresses): a node
-- pointed at other contracts with the same store would mix up their job ids.
CREATE TABLE node_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
