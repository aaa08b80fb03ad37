package manifest

import _ "example.com/bad/baseimages" // up a floor
