#!/usr/bin/env node
'use strict';
console.log(require('../index.js').greet(process.argv[2] || 'world'));
