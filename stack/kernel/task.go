package kernel

// Task is a user process: a name, a PID and its file table.
type Task struct {
	Name  string
	PID   int
	Files *Files
	saved []int // open calls while the task sleeps
}

// Context is the task's process context.
func (t *Task) Context() Context { return Context{Kind: CtxTask, Name: t.Name, PID: t.PID} }

// File is an open file; Private is what the file's owner hangs on it (a
// struct socket for sockets).
type File struct {
	Private any
}

// Files is a process's fd table.
type Files struct {
	fds []*File
}

// Install puts f at the lowest free fd, as fd_install after
// get_unused_fd_flags, starting at 3 (0-2 are the terminal).
func (f *Files) Install(file *File) int {
	for len(f.fds) < 3 {
		f.fds = append(f.fds, &File{})
	}
	for i := 3; i < len(f.fds); i++ {
		if f.fds[i] == nil {
			f.fds[i] = file
			return i
		}
	}
	f.fds = append(f.fds, file)
	return len(f.fds) - 1
}

// Get is fdget(): the file at fd, or nil.
func (f *Files) Get(fd int) *File {
	if fd < 0 || fd >= len(f.fds) {
		return nil
	}
	return f.fds[fd]
}

// Close is close_fd(): the slot becomes free for the next Install.
func (f *Files) Close(fd int) {
	if fd >= 0 && fd < len(f.fds) {
		f.fds[fd] = nil
	}
}
