// Package shared is the root of the module that sage-daemon, sage-bridge and
// sage-installer share: the client configuration format (config), the REST
// wire types (api) and the PostgreSQL test harness (pgtest).
package shared
