package cache

import "os"

// fileID is what the cache remembers of a file to tell whether it changed
// without reading it: size and modification time, which an edit can keep
// (a tool that restores the mtime, a copy with -p), and the inode and
// change time, which it cannot: a rewrite in place moves the change time,
// a replacement by rename changes the inode.
type fileID struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtimeNs"`
	Inode   uint64 `json:"ino,omitempty"`
	Ctime   int64  `json:"ctimeNs,omitempty"`
}

func idOf(fi os.FileInfo) fileID {
	ino, ctime := inodeCtime(fi)
	return fileID{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Inode: ino, Ctime: ctime}
}
