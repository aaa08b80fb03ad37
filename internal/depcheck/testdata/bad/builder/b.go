package builder

import _ "example.com/bad/cmd/hfpack/internal/project" // into cmd/
