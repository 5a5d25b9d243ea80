// Package communityid computes version 1 of the Community ID flow hash
// (https://github.com/corelight/community-id-spec), the value Elasticsearch's
// community_id ingest processor writes to network.community_id, so that one
// flow seen by Sysmon, Zeek or a firewall carries the same id everywhere.
package communityid
