// The nightly timer: a stand-in for the monolith's maintenance job.
console.log(`cleanup ran at ${new Date().toISOString()}`);
