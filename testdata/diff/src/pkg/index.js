'use strict';
const { greet } = require('./lib/util.js');
module.exports = { greet };
