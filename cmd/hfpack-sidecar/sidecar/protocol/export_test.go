package protocol

// ParsePieceForTest exposes the piece frames' fast path to the fuzz target.
var ParsePieceForTest = parsePiece
