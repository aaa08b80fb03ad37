// Package hub downloads models from the Hugging Face Hub the way
// huggingface_hub does, but pinned: a revision is resolved once to its
// commit, every selected file is recorded with its size and sha256, and
// later fetches use that commit and verify those hashes.
//
// The HTTP API used is the subset huggingface_hub's file_download.py and
// hf_api.py rely on:
//
//	GET  {endpoint}/api/models/{repo}/revision/{revision}?blobs=true
//	     -> {"sha": commit, "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size"}}]}
//	HEAD {endpoint}/{repo}/resolve/{commit}/{path}
//	     -> X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size; LFS files
//	        redirect (302) to a separate file host
//	GET  {location} with Range: bytes=a-b -> 206, Content-Range
//
// Errors carry the Hub's X-Error-Code (GatedRepo, RepoNotFound,
// RevisionNotFound, EntryNotFound) as sentinels and name the fix. The token
// is sent only to the endpoint's own host: a redirect to another host (the
// file CDN) is followed without it.
package hub
