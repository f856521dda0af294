package main

import "github.com/pwndex/pwndex/index"

const indexFormat = index.FormatVersion
